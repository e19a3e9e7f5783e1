// The baseline for the ingest benchmark: the same web framework (Fastify) with a route that does
// no work, so the ratio shows what Herald's validation, auth and durable commit cost.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/api/v1/app/:app_id/msg', async (_req, reply) => reply.code(202).send({}));
const url = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write(`listening ${url}\n`);
