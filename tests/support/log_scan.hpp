#pragma once
// The log scan: no gateway log may hold a phone number or a message body a
// test sent. While the tests run (ctest sets BARID_E2E_LOG_DIR for every
// test that starts a gateway), what they send to a gateway is recorded there
// (sent-<pid>.txt) and every gateway's log is kept (gateway-<pid>-<n>.log);
// after all of them, tests/e2e/log_scan_test.cpp looks for every recorded
// value in every kept log.

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace barid::testing {

// The phone numbers and bodies in a request to a gateway (or to a fake
// provider that passes them on to one), each as sent and as decoded:
//  - numbers (a '+' and 8 to 15 digits, or 9 to 15 bare digits) in the
//    path's segments and the query's values, e.g. GET /v1/recipients/
//    +966501234567/preferences or ?to=%2B966501234567;
//  - in POST, PUT and PATCH bodies (JSON or a form): the numbers under to,
//    from, phone and recipients, any other value that is a '+' number, and
//    the texts of 12 characters or more under body, text and variables
//    (Twilio's To, From and Body in a form); shorter texts ("x", "STOP")
//    would match ordinary log text.
// A local Saudi number (05...) also yields its E.164 form, and an E.164
// number its digits without the '+' (as Unifonic sends it).
std::vector<std::string> sent_values(const std::string& method, const std::string& target, const std::string& body);

// With BARID_E2E_LOG_DIR set, appends sent_values(...) to its sent-<pid>.txt.
void record_sent(const std::string& method, const std::string& target, const std::string& body);

// With BARID_E2E_LOG_DIR set, copies the log of a gateway (a file of
// barid-gateway's stderr) into it as gateway-<pid>-<n>.log.
void keep_gateway_log(const std::filesystem::path& log);

struct LogScanResult {
  std::size_t logs = 0;    // gateway-*.log files scanned
  std::size_t bytes = 0;   // their size
  std::size_t values = 0;  // distinct values recorded in sent-*.txt
  // One line per value found in a log: the log's name and the value's
  // length and first four characters (never the value itself).
  std::vector<std::string> findings;
};

// Looks for every value of `dir`'s sent-*.txt files in its gateway-*.log files.
LogScanResult scan_logs(const std::filesystem::path& dir);

}  // namespace barid::testing
