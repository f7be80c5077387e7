"""The security layer: headers, client IP, body limits, rate limiting, input inspection, events."""
