import { escapeName, FormatError, WebdcpError } from "../errors/mod.ts";
import { decodePickle } from "../pickle/mod.ts";
import { memorySource } from "../storage/mod.ts";
import { openTorchArchive, torchGlobals } from "../torch/mod.ts";

/**
 * Checks a DCP BYTE_IO item that is about to be copied verbatim into an output, as `verify` checks it: its
 * pickle may name only allow-listed globals. torch's `dcp.load` unpickles the item (`torch.load`), so one
 * naming `os.system` would run code for whoever loads the output; it is refused with E_UNSAFE_VALUE naming
 * the key, the file and the offset. Items that are not pickles (a saved `io.BytesIO` is raw bytes) pass.
 */
export async function checkCopiedValue(
  raw: Uint8Array,
  where: { file: string; offset: number },
  key: string,
): Promise<void> {
  const path = where.file;
  try {
    if (raw[0] === 0x50 && raw[1] === 0x4b) {
      await openTorchArchive(memorySource(raw, path), { path, baseOffset: where.offset });
    } else if (raw[0] === 0x80) {
      // A bare pickle (torch.load's legacy format starts with one): decoded with the same allow-list.
      decodePickle(raw, { globals: torchGlobals, persistentLoad: () => null, path, baseOffset: where.offset });
    }
  } catch (e) {
    if (!(e instanceof WebdcpError) || e.code !== "E_PICKLE_GLOBAL") {
      if (raw[0] === 0x80 && e instanceof WebdcpError) return; // raw bytes that merely start like a pickle
      throw e;
    }
    throw new FormatError(
      "E_UNSAFE_VALUE",
      `value '${escapeName(key)}' would run code when torch loads it (${e.message}); ` +
        `pass allowUnsafeValues / --allow-unsafe-values to copy it anyway`,
      { path, offset: e.offset ?? where.offset, cause: e },
    );
  }
}
