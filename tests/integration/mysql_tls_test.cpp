// storage.tls against real MariaDB servers: one serving TLS with
// certificates made at test time (tests/support/test_certificates.hpp),
// one serving none. What each mode connects to is asked of the server
// itself (the session's Ssl_cipher), on the store's own connection.

#include "connection.hpp"
#include "private_mariadb.hpp"
#include "test_certificates.hpp"

#include <barid/core/mysql_store.hpp>

#include <cppconn/exception.h>
#include <gtest/gtest.h>

#include <string>

namespace barid::core {
namespace {

using mysql::DbConnection;
using testing::PrivateMariaDb;
using testing::TestCertificates;

constexpr auto npos = std::string::npos;

MySqlOptions with_tls(MySqlOptions o, MySqlTlsMode mode, std::string ca = {}) {
  o.tls.mode = mode;
  o.tls.ca = std::move(ca);
  o.pool_size = 1;
  return o;
}

// The server's Ssl_cipher for the session of a connection made with `o`:
// empty when the connection is not encrypted.
std::string session_cipher(const MySqlOptions& o) {
  DbConnection c(o);
  auto rs = c.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
  if (!rs->next()) return "(no Ssl_cipher)";
  return rs->getString(2).asStdString();
}

// The text of the error a connection made with `o` is refused with; the test
// fails if it connects, or if the error is not the client library's TLS
// error (2026), or if the connection is kept.
std::string refusal(const MySqlOptions& o) {
  DbConnection c(o);
  try {
    c.ensure_connected();
  } catch (const sql::SQLException& e) {
    EXPECT_EQ(e.getErrorCode(), 2026) << e.what();
    EXPECT_FALSE(c.connected());
    return e.what();
  }
  ADD_FAILURE() << "storage.tls.mode " << to_string(o.tls.mode) << " connected (TLS: '" << c.tls() << "')";
  return {};
}

TEST(MySqlTls, EveryModeAgainstAServerWithTls) {
  TestCertificates certs;
  PrivateMariaDb db(certs.server());
  EXPECT_NE(session_cipher(with_tls(db.options(), MySqlTlsMode::required)), "");
  EXPECT_NE(session_cipher(with_tls(db.options(), MySqlTlsMode::verify_identity, certs.ca())), "");
  EXPECT_NE(session_cipher(with_tls(db.options(), MySqlTlsMode::preferred)), "");
  EXPECT_EQ(session_cipher(with_tls(db.options(), MySqlTlsMode::disabled)), "");

  // What the gateway logs at start: the protocol and the session's cipher.
  MySqlStore store(with_tls(db.options(), MySqlTlsMode::verify_identity, certs.ca()));
  ASSERT_TRUE(store.migrate().ok());
  auto tls = store.connection_tls();
  ASSERT_TRUE(tls.ok()) << tls.error().message;
  const std::string cipher = session_cipher(with_tls(db.options(), MySqlTlsMode::verify_identity, certs.ca()));
  EXPECT_EQ(tls->rfind("TLSv1.", 0), 0u) << *tls;
  EXPECT_NE(tls->find(", " + cipher), npos) << *tls << " / " << cipher;
  MySqlStore plain(with_tls(db.options(), MySqlTlsMode::disabled));
  auto none = plain.connection_tls();
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_EQ(*none, "");
}

TEST(MySqlTls, VerifyIdentityRefusesACertificateOfAnotherCa) {
  TestCertificates certs;
  PrivateMariaDb db(certs.server());
  const auto o = with_tls(db.options(), MySqlTlsMode::verify_identity, certs.other_ca());
  const std::string why = refusal(o);
  EXPECT_NE(why.find("TLS with the database at 127.0.0.1:"), npos) << why;
  EXPECT_NE(why.find("storage.tls.mode verify_identity"), npos) << why;
  EXPECT_NE(why.find("must chain to the CA in " + certs.other_ca()), npos) << why;
  // required checks the chain too when it is given a CA.
  const std::string chain = refusal(with_tls(db.options(), MySqlTlsMode::required, certs.other_ca()));
  EXPECT_NE(chain.find("storage.tls.mode required: the certificate of the server must chain to the CA in " +
                       certs.other_ca()),
            npos)
      << chain;
  // The store says the same to the operator, whose gateway will not start.
  MySqlStore store(o);
  auto st = store.migrate();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("storage.tls.mode verify_identity: the certificate of the server must chain to "
                                    "the CA in " + certs.other_ca() + " and name 127.0.0.1"),
            npos)
      << st.error().message;  // whole: the store's log drops what is between quotes
  EXPECT_NE(st.error().message.find("(MySQL error 2026)"), npos) << st.error().message;
}

TEST(MySqlTls, VerifyIdentityChecksTheServersName) {
  TestCertificates certs;
  PrivateMariaDb db(certs.server_named_elsewhere());  // names db.barid.invalid only
  // The certificate chains to the CA (required checks that much when given one)...
  EXPECT_NE(session_cipher(with_tls(db.options(), MySqlTlsMode::required, certs.ca())), "");
  // ...but does not name 127.0.0.1.
  const std::string why = refusal(with_tls(db.options(), MySqlTlsMode::verify_identity, certs.ca()));
  EXPECT_NE(why.find("and name 127.0.0.1"), npos) << why;
}

TEST(MySqlTls, RequiredRefusesAServerWithoutTls) {
  TestCertificates certs;
  PrivateMariaDb db;  // no TLS
  for (const std::string& ca : {std::string(), certs.ca()}) {
    const std::string why = refusal(with_tls(db.options(), MySqlTlsMode::required, ca));
    EXPECT_NE(why.find("does not encrypt the connection, and storage.tls.mode required requires TLS"), npos) << why;
  }
  refusal(with_tls(db.options(), MySqlTlsMode::verify_identity, certs.ca()));
  // preferred goes on in plain text, as disabled does.
  EXPECT_EQ(session_cipher(with_tls(db.options(), MySqlTlsMode::preferred)), "");
  EXPECT_EQ(session_cipher(with_tls(db.options(), MySqlTlsMode::disabled)), "");

  // Nothing the store would send goes over such a connection: migrate
  // creates no table.
  MySqlStore store(with_tls(db.options(), MySqlTlsMode::required));
  auto st = store.migrate();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("requires TLS"), npos) << st.error().message;
  EXPECT_EQ(db.scalar("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'barid'"), "0");
}

TEST(MySqlTls, AClientCertificateForAnAccountThatRequiresOne) {
  TestCertificates certs;
  PrivateMariaDb db(certs.server());
  db.scalar("CREATE USER 'barid_x509'@'127.0.0.1' IDENTIFIED BY 'x509-test' REQUIRE X509; "
            "GRANT ALL ON barid.* TO 'barid_x509'@'127.0.0.1'");
  auto o = with_tls(db.options(), MySqlTlsMode::verify_identity, certs.ca());
  o.user = "barid_x509";
  o.password = "x509-test";
  {
    DbConnection c(o);
    try {
      c.ensure_connected();
      ADD_FAILURE() << "connected without a client certificate";
    } catch (const sql::SQLException& e) {
      EXPECT_EQ(e.getErrorCode(), 1045) << e.what();  // access denied
    }
  }
  o.tls.cert = certs.client_cert();
  o.tls.key = certs.client_key();
  EXPECT_NE(session_cipher(o), "");
}

}  // namespace
}  // namespace barid::core
