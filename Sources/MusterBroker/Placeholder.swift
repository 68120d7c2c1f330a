enum PlaceholderMusterBroker {}
