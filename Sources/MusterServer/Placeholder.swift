enum PlaceholderMusterServer {}
