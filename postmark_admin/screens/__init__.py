"""What the Django admin and the Wagtail admin share: the settings page, panels, actions, event queries."""
