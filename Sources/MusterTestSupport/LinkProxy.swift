public import MusterNet

/// The network between two parties, broken on command (`MusterNet.BreakableLine`).
public typealias LinkProxy = BreakableLine
