enum MusterStompPlaceholder {}
