/**
 * The learning loop (ARCHITECTURE §3.3, §7): healing attempts pushed by appliances → candidates grouped by
 * (check, platform, runbook, canonical params) per MSP, fleet-wide or scoped to the one site that proved it →
 * shadow replay → approval (person or policy) → a rule in the MSP's (or that site's) next signed rule set →
 * executions counted back → canary / drift monitoring, with a ledger of
 * every state change. This is the folder's public surface.
 */
export { recordHealingAttempts, importPushedAttempts } from "./attempts.ts";
export { runLearningCycle, learnForMsp, startLearningScheduler, DEFAULT_LEARNING_INTERVAL_MS, type LearningDeps, type LearningScheduler, type CycleReport, type MspReport } from "./cycle.ts";
export { approveCandidate, rejectCandidate, retireCandidate } from "./actions.ts";
export { DEFAULT_THRESHOLDS, learningPolicy, updateLearningPolicy, describeThresholds, type LearningThresholds, type LearningPolicy } from "./thresholds.ts";
export { transition, TRANSITIONS, CANDIDATE_STATES, type CandidateState } from "./transitions.ts";
export { seedSimulatedHistory, DEFAULT_SEED_FIXES, SIMULATED_PROVENANCE, type SeedOptions, type SeedFix } from "./demo-seed.ts";
export { LEARNING_ROUTES } from "./routes.ts";
