#include <barid/core/ids.hpp>

#include <barid/sdk/encoding.hpp>

#include <chrono>
#include <cstring>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdlib>

namespace barid::core {
namespace {

// Random bytes from OpenSSL's CSPRNG, drawn 256 at a time per thread (ids are
// made on the accept path; one RAND_bytes call per id would cost more than
// the id). Ids need to be unguessable: they are the only thing naming a
// message in a URL.
void random_bytes(std::uint8_t* out, std::size_t n) {
  thread_local std::array<std::uint8_t, 256> pool{};
  thread_local std::size_t used = pool.size();
  while (n > 0) {
    if (used == pool.size()) {
      if (RAND_bytes(pool.data(), static_cast<int>(pool.size())) != 1) std::abort();  // no entropy: never guess
      used = 0;
    }
    const std::size_t k = std::min(n, pool.size() - used);
    std::memcpy(out, pool.data() + used, k);
    used += k;
    out += k;
    n -= k;
  }
}

std::uint64_t random_u64() {
  std::uint64_t v = 0;
  random_bytes(reinterpret_cast<std::uint8_t*>(&v), sizeof v);
  return v;
}

}  // namespace

Uuid Uuid::v7() noexcept {
  // 48-bit unix milliseconds | version 7 | 12-bit counter | variant 10 | 62
  // random bits. Ids from one thread strictly increase: within a millisecond
  // the counter counts up from a random start below 0x800, and when it runs
  // out the timestamp borrows the next millisecond.
  thread_local std::uint64_t last_ms = 0;
  thread_local std::uint16_t counter = 0;
  const auto now_ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                     std::chrono::system_clock::now().time_since_epoch())
                                                     .count());
  if (now_ms > last_ms) {
    last_ms = now_ms;
    counter = static_cast<std::uint16_t>(random_u64() & 0x07FF);
  } else if (++counter > 0x0FFF) {
    ++last_ms;
    counter = static_cast<std::uint16_t>(random_u64() & 0x07FF);
  }
  const std::uint64_t ms = last_ms;
  Uuid u;
  for (int i = 0; i < 6; ++i) u.bytes[i] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
  u.bytes[6] = static_cast<std::uint8_t>(0x70 | ((counter >> 8) & 0x0F));
  u.bytes[7] = static_cast<std::uint8_t>(counter & 0xFF);
  std::uint64_t r = random_u64();
  for (int i = 8; i < 16; ++i) u.bytes[i] = static_cast<std::uint8_t>(r >> (8 * (i - 8)));
  u.bytes[8] = static_cast<std::uint8_t>((u.bytes[8] & 0x3F) | 0x80);
  return u;
}

std::optional<Uuid> Uuid::parse(std::string_view t) noexcept {
  if (t.size() != 36) return std::nullopt;
  Uuid u;
  int b = 0;
  for (std::size_t i = 0; i < t.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (t[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    const int hi = sdk::hex_value(t[i]), lo = sdk::hex_value(t[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    u.bytes[b++] = static_cast<std::uint8_t>(hi * 16 + lo);
    i += 2;
  }
  return u;
}

Uuid Uuid::from_bytes(std::string_view raw) noexcept {
  Uuid u;
  std::memcpy(u.bytes.data(), raw.data(), std::min<std::size_t>(raw.size(), 16));
  return u;
}

std::string Uuid::str() const {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(hex[bytes[i] >> 4]);
    out.push_back(hex[bytes[i] & 0xF]);
  }
  return out;
}

std::string Uuid::raw() const { return std::string(reinterpret_cast<const char*>(bytes.data()), 16); }

bool Uuid::is_nil() const noexcept {
  for (auto b : bytes)
    if (b) return false;
  return true;
}

std::size_t UuidHash::operator()(const Uuid& u) const noexcept {
  std::uint64_t a, b;
  std::memcpy(&a, u.bytes.data(), 8);
  std::memcpy(&b, u.bytes.data() + 8, 8);
  return std::hash<std::uint64_t>{}(a ^ (b * 0x9E3779B97F4A7C15ull));
}

std::string random_hex(std::size_t n) {
  std::string raw(n, '\0');
  random_bytes(reinterpret_cast<std::uint8_t*>(raw.data()), n);
  return sdk::hex_encode(raw);
}

}  // namespace barid::core
