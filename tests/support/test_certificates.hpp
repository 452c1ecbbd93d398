#pragma once
// Certificates made at test time with the openssl command, in a temporary
// folder: a CA; a server certificate it signed for localhost and 127.0.0.1;
// another it signed for a name the tests never connect to; a client
// certificate it signed; and a second CA that signed none of them. Nothing
// is kept in the tree, so nothing expires there.

#include "private_mariadb.hpp"

#include <string>

namespace barid::testing {

class TestCertificates {
 public:
  TestCertificates();   // throws std::runtime_error when openssl fails
  ~TestCertificates();  // removes the folder
  TestCertificates(const TestCertificates&) = delete;
  TestCertificates& operator=(const TestCertificates&) = delete;

  std::string ca() const { return dir_ + "/ca.pem"; }
  std::string other_ca() const { return dir_ + "/other-ca.pem"; }
  // For a server: the CA, and a certificate naming localhost and 127.0.0.1.
  ServerTls server() const { return {ca(), dir_ + "/server.pem", dir_ + "/server.key"}; }
  // For a server: the CA, and a certificate naming db.barid.invalid only.
  ServerTls server_named_elsewhere() const { return {ca(), dir_ + "/elsewhere.pem", dir_ + "/elsewhere.key"}; }
  std::string client_cert() const { return dir_ + "/client.pem"; }
  std::string client_key() const { return dir_ + "/client.key"; }

 private:
  std::string dir_;
};

}  // namespace barid::testing
