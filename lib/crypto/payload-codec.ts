// Encrypts every Temporal payload (workflow inputs, results, signals, heartbeats) before it leaves the
// process, in the style of Temporal's encryption samples: the whole serialized payload, metadata included,
// becomes the AES-256-GCM ciphertext of a new payload tagged `binary/encrypted` with the key id, so the
// server and its history only ever see ciphertext. Serialization is the plain protobuf encoding, as in
// the Go, Python and .NET samples, so a codec server in any of those languages can decode it.
//
// The worker decodes with `plaintext: 'refuse'`: a payload that is not our ciphertext did not come from a
// process holding the master key (e.g. a workflow started with the Temporal CLI or UI by anyone who can
// reach Temporal's port), so its workflow task or activity fails instead of running on forged input. AES-GCM
// authenticates what is encrypted, so every accepted input was written by a holder of the key. What
// Temporal produces itself never goes through the codec (headers and search attributes are skipped by the
// SDK; schedules, signals, child workflows and continue-as-new carry payloads our own processes encoded).
// The codec endpoint and the API's client keep passing plaintext through, so Temporal UI still shows
// such a payload for what it is.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, ValueError, type DataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { deriveKey, type Keyring } from './keys.js';

const { Payload: PayloadMessage } = proto.temporal.api.common.v1;

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface PayloadCodecOptions {
  /** What decode does with a payload that is not encrypted: 'pass' returns it as it is (the default, for the
   *  API and the codec endpoint), 'refuse' throws (the worker: inputs must come from a holder of the key). */
  plaintext?: 'pass' | 'refuse';
}

export class PlaintextPayloadError extends ValueError {
  constructor(encoding: string) {
    super(
      `Refused an unencrypted payload (encoding "${encoding}"): this worker runs only inputs encrypted with the ` +
        `platform's master key. Start and signal runs through the cc-jobs API (or a client with its payload codec), ` +
        `never with the Temporal CLI or UI directly.`,
    );
  }
}

export function createPayloadCodec(keyring: Keyring, options: PayloadCodecOptions = {}): PayloadCodec {
  const refusePlaintext = options.plaintext === 'refuse';
  return {
    async encode(payloads: Payload[]): Promise<Payload[]> {
      return payloads.map((payload) => encryptPayload(keyring, payload));
    },
    async decode(payloads: Payload[]): Promise<Payload[]> {
      return payloads.map((payload) => {
        if (isEncrypted(payload)) return decryptPayload(keyring, payload);
        if (refusePlaintext) throw new PlaintextPayloadError(encodingOf(payload));
        return payload;
      });
    },
  };
}

/** For `Connection`/`Client` ({ dataConverter }), `Worker.create({ dataConverter })` (with `plaintext: 'refuse'`)
 *  and test environments alike. */
export function createDataConverterOptions(keyring: Keyring, options: PayloadCodecOptions = {}): DataConverter {
  return { payloadCodecs: [createPayloadCodec(keyring, options)] };
}

function encryptPayload(keyring: Keyring, payload: Payload): Payload {
  const { id } = keyring.current;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', deriveKey(keyring.current, 'payload'), iv);
  const ciphertext = Buffer.concat([cipher.update(PayloadMessage.encode(payload).finish()), cipher.final()]);
  return {
    metadata: {
      [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING),
      [METADATA_KEY_ID]: Buffer.from(id),
    },
    data: Buffer.concat([iv, ciphertext, cipher.getAuthTag()]),
  };
}

function decryptPayload(keyring: Keyring, payload: Payload): Payload {
  const idBytes = payload.metadata?.[METADATA_KEY_ID];
  if (!idBytes) throw new ValueError(`An encrypted payload has no ${METADATA_KEY_ID} metadata; it was not written by this codec.`);
  const id = Buffer.from(idBytes).toString();
  const master = keyring.byId(id);
  if (!master) {
    throw new ValueError(
      `A payload is encrypted with master key id "${id}", which this process does not have; ` +
        `add that key to MASTER_KEY_PREVIOUS as "${id}:<base64 key>" (current key id is "${keyring.current.id}").`,
    );
  }
  const data = Buffer.from(payload.data ?? []);
  if (data.length < IV_BYTES + TAG_BYTES) throw new ValueError(`An encrypted payload is too short (${data.length} bytes) to be valid.`);
  const decipher = createDecipheriv('aes-256-gcm', deriveKey(master, 'payload'), data.subarray(0, IV_BYTES));
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  let plain: Buffer;
  try {
    plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new ValueError(`An encrypted payload (key id "${id}") failed authentication: it was altered or the key is wrong.`);
  }
  return PayloadMessage.decode(plain);
}

function encodingOf(payload: Payload): string {
  const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
  return encoding === undefined || encoding === null ? '' : Buffer.from(encoding).toString();
}

function isEncrypted(payload: Payload): boolean {
  return encodingOf(payload) === ENCRYPTED_ENCODING;
}
