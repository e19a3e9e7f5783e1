// Type-level proof that each payload JSON Schema and its TypeScript payload type describe the
// same object: same keys, same optionality, same JSON types. Checked by ../typecheck.test.ts.
import type { EngageEventType, EngagePayloadMap, EngagePayloadSchemas, LoyaltyAddPointsPayload, RewardVoucherCreatedPayload } from '../../src/index.js';

type JsonType<T> = T extends 'string' ? string : T extends 'number' | 'integer' ? number : T extends 'boolean' ? boolean : T extends 'null' ? null : never;

type FromProperty<P> = P extends { type: 'array'; items: infer I }
  ? FromProperty<I>[]
  : P extends { type: readonly (infer U)[] }
    ? JsonType<U>
    : P extends { type: infer U }
      ? JsonType<U>
      : unknown;

type Simplify<T> = { [K in keyof T]: T[K] };

/** The TS type a (closed, flat) object schema describes. */
type FromSchema<S> = S extends { properties: infer P; required: readonly (infer R)[] }
  ? Simplify<{ [K in keyof P & R]: FromProperty<P[K]> } & { [K in Exclude<keyof P, R>]?: FromProperty<P[K]> }>
  : never;

type Same<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;

type Agrees<T extends EngageEventType> = Same<FromSchema<EngagePayloadSchemas[T]>, Simplify<EngagePayloadMap[T]>>;
type AllAgree = { [T in EngageEventType]: Agrees<T> };

// If any event type disagrees, this is `boolean` and the assertion fails, naming no type: run
// `Agrees<'the.type'>` in an editor to see which.
export type _EverySchemaAgreesWithItsPayloadType = Assert<AllAgree[EngageEventType]>;

// The check discriminates: a camelCased voucher, a missing field, a wrong field type all fail.
type CamelVoucher = { [K in keyof RewardVoucherCreatedPayload as Uncapitalize<K>]: RewardVoucherCreatedPayload[K] };
// @ts-expect-error the voucher schema is PascalCase
export type _CamelVoucherFails = Assert<Same<FromSchema<EngagePayloadSchemas['reward.voucher.created']>, CamelVoucher>>;
// (Each wrong type gets its own alias, so the assertion stays on the line its @ts-expect-error covers.)
type AddPointsSchema = FromSchema<EngagePayloadSchemas['loyalty.addPoints']>;
type MissingField = Simplify<Omit<LoyaltyAddPointsPayload, 'sourceId'>>;
type AmountAsString = Simplify<Omit<LoyaltyAddPointsPayload, 'amount'> & { amount: string }>;
type ReasonOptional = Simplify<Omit<LoyaltyAddPointsPayload, 'reason'> & { reason?: string }>;
// @ts-expect-error a field missing from the type
export type _MissingFieldFails = Assert<Same<AddPointsSchema, MissingField>>;
// @ts-expect-error amount is a number, not a string
export type _WrongTypeFails = Assert<Same<AddPointsSchema, AmountAsString>>;
// @ts-expect-error an optional field is not a required one
export type _OptionalFails = Assert<Same<AddPointsSchema, ReasonOptional>>;
