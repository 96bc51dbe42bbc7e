// Encrypts every Temporal payload (workflow inputs, results, signals, heartbeats) before it leaves the
// process, in the style of Temporal's encryption samples: the whole serialized payload, metadata included,
// becomes the AES-256-GCM ciphertext of a new payload tagged `binary/encrypted` with the key id, so the
// server and its history only ever see ciphertext. Serialization is the plain protobuf encoding, as in
// the Go, Python and .NET samples, so a codec server in any of those languages can decode it.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, ValueError, type DataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { deriveKey, type Keyring } from './keys.js';

const { Payload: PayloadMessage } = proto.temporal.api.common.v1;

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function createPayloadCodec(keyring: Keyring): PayloadCodec {
  return {
    async encode(payloads: Payload[]): Promise<Payload[]> {
      return payloads.map((payload) => encryptPayload(keyring, payload));
    },
    async decode(payloads: Payload[]): Promise<Payload[]> {
      return payloads.map((payload) => (isEncrypted(payload) ? decryptPayload(keyring, payload) : payload));
    },
  };
}

/** For `Connection`/`Client` ({ dataConverter }), `Worker.create({ dataConverter })` and test environments alike. */
export function createDataConverterOptions(keyring: Keyring): DataConverter {
  return { payloadCodecs: [createPayloadCodec(keyring)] };
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

function isEncrypted(payload: Payload): boolean {
  const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
  return encoding !== undefined && encoding !== null && Buffer.from(encoding).toString() === ENCRYPTED_ENCODING;
}
