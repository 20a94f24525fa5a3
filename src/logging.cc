#include "logging.h"

#include <spdlog/details/file_helper.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <syslog.h>

#include <mutex>

namespace rowfs {
namespace {

// A file sink that can reopen its file in place, so the logger object (and
// the raw pointer spdlog hands to every thread) never changes.
class ReopenableFileSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit ReopenableFileSink(const std::string& path) {
    file_.open(path, /*truncate=*/false);
  }
  void Reopen() {
    std::lock_guard lock(mutex_);
    file_.reopen(/*truncate=*/false);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    file_.write(formatted);
  }
  void flush_() override { file_.flush(); }

 private:
  spdlog::details::file_helper file_;
};

// Formats with `pattern` after escaping the message (EscapeForLog): names
// in messages are the users' bytes.
class EscapingFormatter : public spdlog::formatter {
 public:
  explicit EscapingFormatter(std::string pattern)
      : pattern_(std::move(pattern)),
        inner_(std::make_unique<spdlog::pattern_formatter>(pattern_)) {}
  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override {
    const std::string escaped =
        EscapeForLog(std::string_view(msg.payload.data(), msg.payload.size()));
    spdlog::details::log_msg copy = msg;
    copy.payload = spdlog::string_view_t(escaped.data(), escaped.size());
    inner_->format(copy, dest);
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<EscapingFormatter>(pattern_);
  }

 private:
  const std::string pattern_;
  std::unique_ptr<spdlog::pattern_formatter> inner_;
};

std::shared_ptr<ReopenableFileSink>& FileSink() {
  static std::shared_ptr<ReopenableFileSink> sink;
  return sink;
}

}  // namespace

Status SetupLogging(bool foreground, const std::string& level,
                    const std::string& file) {
  std::shared_ptr<spdlog::logger> logger;
  try {
    if (!file.empty()) {
      FileSink() = std::make_shared<ReopenableFileSink>(file);
      logger = std::make_shared<spdlog::logger>("rowfs", FileSink());
    } else if (foreground) {
      logger = std::make_shared<spdlog::logger>(
          "rowfs", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    } else {
      logger = std::make_shared<spdlog::logger>(
          "rowfs", std::make_shared<spdlog::sinks::syslog_sink_mt>(
                       "rowfs", LOG_PID, LOG_DAEMON, false));
    }
  } catch (const spdlog::spdlog_ex& e) {
    return Status::IOError(std::string("cannot open log: ") + e.what());
  }
  // syslog adds time and level itself.
  logger->set_formatter(std::make_unique<EscapingFormatter>(
      file.empty() && !foreground ? "%v" : "[%Y-%m-%d %H:%M:%S.%e] [%l] %v"));
  logger->set_level(spdlog::level::from_str(level));
  // Whatever passes the level reaches the file at once (a crash loses no
  // line); the level keeps the volume down.
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  return Status::OK();
}

std::string EscapeForLog(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

bool LogRateLimit::Allow(uint64_t now_ms, uint64_t* suppressed) {
  std::lock_guard lock(mu_);
  const uint64_t second = now_ms / 1000;
  if (second != second_) {
    second_ = second;
    allowed_ = 0;
  }
  if (allowed_ >= per_second_) {
    ++suppressed_;
    return false;
  }
  ++allowed_;
  *suppressed = suppressed_;
  suppressed_ = 0;
  return true;
}

void ReopenLog() {
  if (auto sink = FileSink()) {
    try {
      sink->Reopen();
    } catch (const spdlog::spdlog_ex& e) {
      spdlog::error("reopening the log: {}", e.what());
    }
  }
}

}  // namespace rowfs
