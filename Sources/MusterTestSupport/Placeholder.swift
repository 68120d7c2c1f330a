enum PlaceholderMusterTestSupport {}
