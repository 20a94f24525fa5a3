#include "logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <syslog.h>

namespace rowfs {

Status SetupLogging(bool foreground, const std::string& level,
                    const std::string& file) {
  std::shared_ptr<spdlog::logger> logger;
  try {
    if (!file.empty()) {
      logger = spdlog::basic_logger_mt("rowfs", file);
    } else if (foreground) {
      logger = spdlog::stderr_logger_mt("rowfs");
    } else {
      logger = spdlog::syslog_logger_mt("rowfs", "rowfs", LOG_PID, LOG_DAEMON);
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
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return Status::OK();
}

}  // namespace rowfs
