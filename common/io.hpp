// File-system helpers: atomic whole-file writes (temp, fsync, rename, fsync dir),
// folder creation with a writability check, and a tiny JSON writer.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace radmm {

/// Writes `bytes` to `path` atomically: `path.tmp.<pid>`, fsync, rename, fsync of the folder.
/// Throws Error(kIoErr) on failure and removes the temp file.
void write_file_atomic(const std::string& path, const std::string& bytes, unsigned mode = 0644);

/// Reads a whole regular file. Throws Error(kNoInput) if missing/unreadable/not regular.
std::string read_file(const std::string& path);

/// Creates `dir` (and parents) and checks that a file can be created in it.
/// Throws Error(kCantCreate) naming the folder.
void make_output_dir(const std::string& dir);

/// "%.17g"-style shortest round-trip text for a double; non-finite as null (JSON) if json.
std::string format_double(double x, bool json = false);

/// Escapes a string for a JSON string literal (without the quotes).
std::string json_escape(const std::string& s);

/// 64-bit FNV-1a hash, used as the checksum of model files.
std::uint64_t fnv1a64(const void* data, std::size_t size, std::uint64_t h = 1469598103934665603ULL);

/// Current UTC time as "YYYYMMDD-HHMMSS".
std::string timestamp_utc();

/// Monotonic seconds since an arbitrary origin.
double now_seconds();

/// Peak resident memory of this process in bytes (VmHWM).
std::int64_t peak_rss_bytes();

}  // namespace radmm
