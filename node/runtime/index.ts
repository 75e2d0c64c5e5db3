/**
 * The node's runtime: components with mailboxes, supervisors that restart them with backoff, and
 * the health registry the UI reads. Principles 1 and 2 of DESIGN.md live here: start-up never
 * fails because a subsystem is down, and nothing a component does crashes the process.
 */
export * from './datadir.ts';
export * from './errors.ts';
export * from './health.ts';
export * from './mailbox.ts';
export * from './supervisor.ts';
