-- Broker destinations (rabbitMq, redisStream, natsJetStream) are delivered by the dispatcher like
-- endpoints: each has an endpoint row with the destination's id, its filters and signing secret,
-- and `kind` naming the broker type. Fan-out, claims, retries, circuits and the attempt log treat
-- it as any endpoint; the API lists only rows without a kind as endpoints. NULL: an HTTP endpoint.
ALTER TABLE endpoint ADD COLUMN kind TEXT;
