enum PlaceholderMusterClient {}
