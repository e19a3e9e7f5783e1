// @herald/brokers: publishing to message brokers, for the Herald server's broker destinations and
// herald-receive's forwards. One interface (Publisher), one implementation per broker.
export type { BrokerMessage, ConnectOptions, Publisher } from './types.js';
export { redactUri, withTimeout } from './types.js';
export { createRabbitMqPublisher, type RabbitMqOptions } from './rabbitmq.js';
export { createRedisStreamPublisher, type RedisStreamOptions } from './redis.js';
export { createNatsJetStreamPublisher, type NatsJetStreamOptions } from './nats.js';
