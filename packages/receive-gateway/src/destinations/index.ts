import type { DestinationConfig } from '../config.js';
import { createHttpDestination } from './http.js';
import { createNatsDestination } from './nats.js';
import { createRabbitMqDestination } from './rabbitmq.js';
import { createRedisDestination } from './redis.js';
import type { Destination } from './types.js';

export function createDestination(name: string, config: DestinationConfig): Destination {
  switch (config.type) {
    case 'http':
      return createHttpDestination(name, config);
    case 'redis':
      return createRedisDestination(name, config);
    case 'rabbitmq':
      return createRabbitMqDestination(name, config);
    case 'nats':
      return createNatsDestination(name, config);
  }
}
