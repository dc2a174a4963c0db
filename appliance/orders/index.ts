/** Public surface of the order processor: verify signed orders, execute each at most once, record the outcome. */
export {
  OrderProcessor,
  HANDLER_TIMEOUT_MS,
  INFLIGHT_PREFIX,
  MAX_RECOVER_PER_CALL,
  REFUSAL_REASONS,
  type OrderContext,
  type OrderHandler,
  type OrderHandlerResult,
  type OrderHandlers,
  type OrderProcessorOptions,
  type OrderReport,
  type RefusalReason,
} from "./processor.ts";
export { HEALING_MODE_ORDER_KEY, HealingModeOrders, healingModeInForce, readHealingModeOrder, type HealingModeInForce, type HealingModeOrder, type HealingModeSource } from "./healing-mode.ts";
