// Shared ajv validators for the catalog's schemas (strict, with formats), for the tests.
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { ENGAGE_CATALOG, ENGAGE_PAYLOAD_SCHEMAS, type EngageEventType } from '../src/index.js';

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

// Strict: unknown keywords or formats in our schemas are errors, not silently ignored.
export const ajv = new Ajv({ strict: true, allowUnionTypes: true, allErrors: true });
addFormats(ajv);

const envelopeValidators = new Map<EngageEventType, ValidateFunction>();
const payloadValidators = new Map<EngageEventType, ValidateFunction>();
for (const entry of ENGAGE_CATALOG) {
  envelopeValidators.set(entry.name, ajv.compile(entry.schemas['1']));
  payloadValidators.set(entry.name, ajv.compile(ENGAGE_PAYLOAD_SCHEMAS[entry.name]));
}

export const validEnvelope = (name: EngageEventType, body: unknown): boolean => envelopeValidators.get(name)!(body);
export const validPayload = (name: EngageEventType, payload: unknown): boolean => payloadValidators.get(name)!(payload);

/** The ajv errors of the last failed payload validation, for assertion messages. */
export function payloadErrors(name: EngageEventType, payload: unknown): string {
  const validate = payloadValidators.get(name)!;
  return validate(payload) ? '' : ajv.errorsText(validate.errors);
}

export function envelopeErrors(name: EngageEventType, body: unknown): string {
  const validate = envelopeValidators.get(name)!;
  return validate(body) ? '' : ajv.errorsText(validate.errors);
}
