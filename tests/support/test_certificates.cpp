#include "test_certificates.hpp"

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace barid::testing {

namespace {

void run(const std::string& command) {
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) throw std::runtime_error("cannot run " + command);
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p)) out += buf.data();
  if (::pclose(p) != 0) throw std::runtime_error(command + " failed:\n" + out);
}

// The extensions of each kind of certificate. A CA must say it is one
// (OpenSSL refuses a chain through a certificate without CA:TRUE); a server
// is named by its subjectAltName, the common name is not looked at.
const char* const kConfig = R"(
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
[elsewhere]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:db.barid.invalid
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
)";

}  // namespace

TestCertificates::TestCertificates() {
  char tmpl[] = "/tmp/barid-certs.XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  std::ofstream(dir_ + "/openssl.cnf") << kConfig;
  const std::string d = dir_ + "/";
  // P-256 keys: made at once, where RSA keys would take a while.
  const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -config " + d + "openssl.cnf";
  for (const std::string ca : {"ca", "other-ca"})
    run("openssl req -x509 -new" + key + " -days 2 -subj /CN=barid-test-" + ca + " -extensions ca -keyout " + d + ca +
        ".key -out " + d + ca + ".pem");
  int serial = 0;
  for (const std::string leaf : {"server", "elsewhere", "client"}) {
    run("openssl req -new" + key + " -subj /CN=barid-test-" + leaf + " -keyout " + d + leaf + ".key -out " + d + leaf +
        ".csr");
    run("openssl x509 -req -days 2 -in " + d + leaf + ".csr -CA " + d + "ca.pem -CAkey " + d + "ca.key -set_serial " +
        std::to_string(++serial) + " -extfile " + d + "openssl.cnf -extensions " + leaf + " -out " +
        d + leaf + ".pem");
  }
}

TestCertificates::~TestCertificates() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace barid::testing
