// @herald/receive-gateway: herald-receive, the inbound gateway (inbox, forwarding, configuration).
export { ConfigError, destinationsFor, ENV_VARS, loadConfig, matchesEvent, validateConfig } from './config.js';
export type {
  DestinationConfig,
  GatewayConfig,
  HttpDestinationConfig,
  NatsDestinationConfig,
  RabbitMqDestinationConfig,
  RedisDestinationConfig,
  RetryConfig,
  RouteConfig,
} from './config.js';
export { createDestination } from './destinations/index.js';
export type { Destination, ForwardMessage } from './destinations/types.js';
export { retryDelay, startForwarder } from './forwarder.js';
export type { Forwarder, ForwarderOptions } from './forwarder.js';
export { startGateway } from './gateway.js';
export type { Gateway, GatewayOptions } from './gateway.js';
export { openInbox } from './inbox.js';
export type { AcceptInput, AcceptResult, DeliveryRow, DeliveryStatus, DueDelivery, Inbox } from './inbox.js';
