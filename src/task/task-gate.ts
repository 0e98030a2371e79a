/**
 * The delivery gate of a task, an advisory lock keyed by the task id (the first key names the gate, so no other
 * advisory lock collides with it). Every delivery of a task's vectors holds it shared, from the check that the task
 * is not cancelled until the receiver has answered; cancel and delete take it exclusively before they change the task,
 * so they wait for the deliveries in flight and no delivery of the task starts after them. Advisory, not a row lock:
 * appends, claims and settles of the task never wait for a delivery.
 */
const GATE = "pg_catalog.hashtext('embedding_tasks.task_gate'), ($1::bigint % 2147483647)::int";

/** Shared, until the transaction ends: a delivery in flight. */
export const TASK_GATE_SHARED_SQL = `SELECT pg_advisory_xact_lock_shared(${GATE})`;

/** Exclusive, until the transaction ends: cancel or delete, after every delivery in flight. */
export const TASK_GATE_EXCLUSIVE_SQL = `SELECT pg_advisory_xact_lock(${GATE})`;
