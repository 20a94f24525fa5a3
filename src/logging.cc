#include "logging.h"

#include <spdlog/details/file_helper.h>
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
  if (file.empty() && !foreground) {
    logger->set_pattern("%v");  // syslog adds time and level itself
  } else {
    logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
  }
  logger->set_level(spdlog::level::from_str(level));
  // Whatever passes the level reaches the file at once (a crash loses no
  // line); the level keeps the volume down.
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  return Status::OK();
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
