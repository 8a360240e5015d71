"""From Django messages to Postmark's answer: payload mapping, batching, the HTTP client, statuses."""
