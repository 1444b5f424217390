/**
 * The scheduler role: durable workflow queue and task states, dispatch to
 * executors, resume after a restart.
 */
export { Scheduler } from './scheduler.js'
export type { SchedulerInit, SchedulerEvent, WorkflowSummary } from './scheduler.js'
export { SchedulerState, SCHEDULER_DB_FILE, isFinished } from './state.js'
export type { TaskState, WorkflowRecord } from './state.js'
export { SubmitService, UnauthorizedSubmissionError } from './submit-service.js'
export type { SubmitServiceInit } from './submit-service.js'
export { startSchedulerRole } from './role.js'
export type { SchedulerRole, SchedulerRoleInit } from './role.js'
