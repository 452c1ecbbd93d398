#include "test_host.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

namespace barid::plugins::testing {

sdk::HttpResponse ScriptedHttpClient::perform(const sdk::HttpRequest& request) noexcept {
  requests.push_back(request);
  if (answers_.empty()) {
    sdk::HttpResponse r;
    r.status = 599;
    r.body = "the test scripted no answer for this request";
    return r;
  }
  sdk::HttpResponse r = std::move(answers_.front());
  answers_.pop_front();
  return r;
}

void ScriptedHttpClient::answer(int status, std::string body, sdk::HttpHeaders headers) {
  sdk::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  answers_.push_back(std::move(r));
}

void ScriptedHttpClient::answer_json(int status, std::string body, sdk::HttpHeaders headers) {
  headers.emplace_back("content-type", "application/json");
  answer(status, std::move(body), std::move(headers));
}

void ScriptedHttpClient::fail(sdk::TransportError error, std::string message) {
  sdk::HttpResponse r;
  r.error = error;
  r.error_message = std::move(message);
  answers_.push_back(std::move(r));
}

void RecordingLogger::log(sdk::LogLevel level, std::string_view message) noexcept {
  lines.emplace_back(message);
  levels.push_back(level);
}

std::vector<std::string> RecordingLogger::at(sdk::LogLevel level) const {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (levels[i] == level) out.push_back(lines[i]);
  return out;
}

std::string RecordingLogger::all() const {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

namespace {
std::string hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
       out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}
}  // namespace

std::string OpenSslCrypto::hmac_sha1(std::string_view key, std::string_view data) const noexcept {
  return hmac(EVP_sha1(), key, data);
}
std::string OpenSslCrypto::hmac_sha256(std::string_view key, std::string_view data) const noexcept {
  return hmac(EVP_sha256(), key, data);
}
std::string OpenSslCrypto::sha256(std::string_view data) const noexcept {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

sdk::FormFields form_of(const sdk::HttpRequest& request) { return sdk::form_decode(request.body); }

sdk::ProviderConfig config_of(const std::vector<sdk::ConfigKey>& keys,
                              const std::vector<std::pair<std::string, std::string>>& values) {
  sdk::ProviderConfig c;
  c.instance_name = "test";
  for (const auto& k : keys) c.values[k.name] = k.default_value;
  for (const auto& [k, v] : values) c.values[k] = v;
  return c;
}

}  // namespace barid::plugins::testing
