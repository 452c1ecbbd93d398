// X-Twilio-Signature against every reference vector (provider-apis.md A.6,
// each confirmed with the official twilio npm package).
#include "test_host.hpp"
#include "twilio/twilio_signature.hpp"

#include <gtest/gtest.h>

namespace barid::plugins::twilio {
namespace {

using testing::OpenSslCrypto;

const sdk::FormFields kDocumentedParams = {{"CallSid", "CA1234567890ABCDE"},
                                           {"Caller", "+12349013030"},
                                           {"Digits", "1234"},
                                           {"From", "+12349013030"},
                                           {"To", "+18005551212"}};

const sdk::FormFields kStatusParams = {{"AccountSid", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
                                       {"From", "+15017250604"},
                                       {"MessageSid", "SM1342fe1b2c904d1ab04f0fc7a58abca9"},
                                       {"MessageStatus", "sent"},
                                       {"SmsSid", "SM1342fe1b2c904d1ab04f0fc7a58abca9"},
                                       {"SmsStatus", "sent"}};

sdk::CallbackRequest post(std::string url, const sdk::FormFields& params, std::string signature) {
  sdk::CallbackRequest r;
  r.kind = "status";
  r.method = "POST";
  r.url = std::move(url);
  r.body = sdk::form_encode(params);
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  if (!signature.empty()) r.headers.emplace_back("X-Twilio-Signature", std::move(signature));
  return r;
}

TEST(TwilioSignature, TwilioDocumentedExample) {
  OpenSslCrypto crypto;
  EXPECT_EQ(compute_signature(crypto, "12345", "https://mycompany.com/myapp.php?foo=1&bar=2", kDocumentedParams),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
  // Order of the parameters in the body does not matter: they are sorted.
  sdk::FormFields shuffled(kDocumentedParams.rbegin(), kDocumentedParams.rend());
  auto req = post("https://mycompany.com/myapp.php?foo=1&bar=2", shuffled, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
  EXPECT_EQ(verify_signature(crypto, "12345", req), SignatureCheck::valid);
}

TEST(TwilioSignature, StatusCallbackVectorAndSignedString) {
  OpenSslCrypto crypto;
  EXPECT_EQ(signature_payload("https://gw.example.com/twilio/status", kStatusParams),
            "https://gw.example.com/twilio/statusAccountSidACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaFrom+15017250604"
            "MessageSidSM1342fe1b2c904d1ab04f0fc7a58abca9MessageStatussentSmsSid"
            "SM1342fe1b2c904d1ab04f0fc7a58abca9SmsStatussent");
  EXPECT_EQ(compute_signature(crypto, "12345", "https://gw.example.com/twilio/status", kStatusParams),
            "mfaanVrsCpa4UMKQPj35vDgsPlY=");
  EXPECT_EQ(verify_signature(crypto, "12345",
                             post("https://gw.example.com/twilio/status", kStatusParams, "mfaanVrsCpa4UMKQPj35vDgsPlY=")),
            SignatureCheck::valid);
}

TEST(TwilioSignature, DefaultPortVariantIsAcceptedBothWays) {
  OpenSslCrypto crypto;
  EXPECT_EQ(compute_signature(crypto, "12345", "https://gw.example.com:443/twilio/status", kStatusParams),
            "Acdd7zXnpULGDPCV8fu2nDHukiY=");
  // Signed with :443, the gateway knows the URL without the port.
  EXPECT_EQ(verify_signature(crypto, "12345",
                             post("https://gw.example.com/twilio/status", kStatusParams, "Acdd7zXnpULGDPCV8fu2nDHukiY=")),
            SignatureCheck::valid);
  // Signed without the port, the gateway is configured with :443.
  EXPECT_EQ(verify_signature(crypto, "12345",
                             post("https://gw.example.com:443/twilio/status", kStatusParams,
                                  "mfaanVrsCpa4UMKQPj35vDgsPlY=")),
            SignatureCheck::valid);
}

TEST(TwilioSignature, UrlVariants) {
  EXPECT_EQ(url_variants("https://h.example/x?a=1"),
            (std::vector<std::string>{"https://h.example/x?a=1", "https://h.example:443/x?a=1"}));
  EXPECT_EQ(url_variants("http://h.example:80/x"),
            (std::vector<std::string>{"http://h.example:80/x", "http://h.example/x"}));
  EXPECT_EQ(url_variants("http://127.0.0.1:8080/x"),
            (std::vector<std::string>{"http://127.0.0.1:8080/x", "http://127.0.0.1/x"}));
  EXPECT_EQ(url_variants("http://[::1]/x"), (std::vector<std::string>{"http://[::1]/x", "http://[::1]:80/x"}));
}

TEST(TwilioSignature, JsonBodyWithBodySha256) {
  OpenSslCrypto crypto;
  const std::string url =
      "https://gw.example.com/hook?bodySHA256=93a23971a914e5eacbf0a8d25154cda309c3c1c72fbb9914d47c60f3cb681588";
  EXPECT_EQ(compute_signature(crypto, "12345", url, {}), "Shyv3K8vuf+kbqw4ZgETSYcfwxc=");
  sdk::CallbackRequest req;
  req.method = "POST";
  req.url = url;
  req.body = R"({"hello":"world"})";
  req.headers = {{"content-type", "application/json"}, {"x-twilio-signature", "Shyv3K8vuf+kbqw4ZgETSYcfwxc="}};
  EXPECT_EQ(verify_signature(crypto, "12345", req), SignatureCheck::valid);
  req.body = R"({"hello":"world!"})";
  EXPECT_EQ(verify_signature(crypto, "12345", req), SignatureCheck::body_hash_mismatch);
}

TEST(TwilioSignature, MissingWrongOrTamperedIsRejected) {
  OpenSslCrypto crypto;
  const std::string url = "https://gw.example.com/twilio/status";
  EXPECT_EQ(verify_signature(crypto, "12345", post(url, kStatusParams, "")), SignatureCheck::missing);
  EXPECT_EQ(verify_signature(crypto, "12345", post(url, kStatusParams, "mfaanVrsCpa4UMKQPj35vDgsPlZ=")),
            SignatureCheck::mismatch);
  EXPECT_EQ(verify_signature(crypto, "wrong-token", post(url, kStatusParams, "mfaanVrsCpa4UMKQPj35vDgsPlY=")),
            SignatureCheck::mismatch);
  auto tampered = kStatusParams;
  tampered[3].second = "delivered";
  EXPECT_EQ(verify_signature(crypto, "12345", post(url, tampered, "mfaanVrsCpa4UMKQPj35vDgsPlY=")),
            SignatureCheck::mismatch);
  // A different URL (another instance's webhook) does not verify either.
  EXPECT_EQ(verify_signature(crypto, "12345",
                             post("https://gw.example.com/twilio/other", kStatusParams, "mfaanVrsCpa4UMKQPj35vDgsPlY=")),
            SignatureCheck::mismatch);
}

TEST(TwilioSignature, HeaderNameIsCaseInsensitive) {
  OpenSslCrypto crypto;
  auto req = post("https://gw.example.com/twilio/status", kStatusParams, "");
  req.headers.emplace_back("x-twilio-signature", "mfaanVrsCpa4UMKQPj35vDgsPlY=");
  EXPECT_EQ(verify_signature(crypto, "12345", req), SignatureCheck::valid);
}

TEST(TwilioSignature, RepeatedParametersAreSortedByValue) {
  EXPECT_EQ(signature_payload("u", {{"b", "2"}, {"a", "z"}, {"a", "y"}, {"a", "y"}}), "uayazb2");
}

TEST(TwilioSignature, DecodedValuesAreSigned) {
  OpenSslCrypto crypto;
  // '+' in a form body is a space; %2B is a plus sign.
  sdk::CallbackRequest req;
  req.method = "POST";
  req.url = "https://gw.example.com/in";
  req.body = "Body=Hello+world&From=%2B15550001111";
  req.headers = {{"X-Twilio-Signature",
                  compute_signature(crypto, "tok", req.url, {{"Body", "Hello world"}, {"From", "+15550001111"}})}};
  EXPECT_EQ(verify_signature(crypto, "tok", req), SignatureCheck::valid);
}

}  // namespace
}  // namespace barid::plugins::twilio
