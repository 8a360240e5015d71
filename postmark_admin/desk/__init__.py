"""The deliverability desk's data: the sent-message log, its link to webhook events, its reads (docs/desk.rst)."""
