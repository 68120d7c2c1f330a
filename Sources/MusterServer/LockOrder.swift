/// The order in which the broker's locks nest, across targets. A thread holding a lock may
/// take only locks below it; a lock marked "leaf" calls out to nothing while held. Each lock
/// names this list where it is declared.
///
///  1. `EventLoop.ownership` (MusterNet, adaptive) — held by a loop whenever it is not in
///     `epoll_wait`; everything a loop runs nests below it. A loop helping a sleeping loop
///     takes that loop's ownership with `tryLock` only, so two loops never wait for each other.
///  2. `MessageLog.commitLock` (MusterLog) — held while a batch is written, synced and its
///     completions run in offset order; the completions take the locks below. A thread that
///     holds a lower lock (an appender under the desk's lock) takes it only with `try`, to run
///     a commit itself when the writer is idle, and never waits for it.
///  3. `WorkflowDesk.lock` (MusterWorkflow, recursive) — decides and appends workflow messages
///     in one order; a refusal record's completion takes it (under 2) to note the record.
///  4. `Broker.state` (MusterBroker, adaptive) — routing and acknowledgements; below it:
///     the session's `flow` (deliveries), `WorkflowDesk.deliveries` (leaf), `WorkflowDesk.wake`
///     (leaf: signals the timer thread when a cross-border copy owes a receipt) and
///     `LogMessageStore.ledger` (delivery records).
///  4a. `LogMessageStore.ledger` (MusterServer) — delivery events waiting for a batch; held
///     while a batch is handed to the log (`MessageLog.queue` below it), also from the
///     writer's completions (under 2).
///  5. `ServerSession.flow` (MusterServer) — a live subscriber's throttling; below it: the
///     channel's staging.
///  6. `TLSChannel.staged` (MusterNet) — bytes waiting for the loop; below it: the loop's tasks.
///  7. `EventLoop.tasks` (MusterNet) — leaf.
///
/// Leaves, taken under any of the above and calling nothing while held: `MessageLog.queue`
/// and `.catalog`, `RecentMessages.lock`, `SharedExportIndex.index`, `LogMessageStore`'s idle readers, `PolicyGate.state`,
/// `Broker.callbacks`, `Broker.publishIDs`, `ConsumerRegistry.writing`, `BrokerServer.sessions` and `.context`,
/// `FederationState.current` (read under the desk's lock for the linked jurisdictions and the export stamp), and a
/// stored message's `FrameHeadersBox` (encodes the headers while held, nothing else).
enum LockOrder {}
