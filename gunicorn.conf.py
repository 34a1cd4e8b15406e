# Gunicorn reads this file when started in the project folder (elsewhere: --config <path>).
# Its access and error lines then carry no review-link or calendar-feed token.
logger_class = "agency.gunicorn_logger.RedactingLogger"
