import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMappings, type MappingSet } from '../../src/config/mappings.ts';

/**
 * The MappingSet a config folder with these files under mappings/ loads to (`products.yaml`,
 * `order.jsonata`, ...), read by the gateway's own loader; no files gives the empty set.
 */
export async function mappingsFrom(files: Record<string, string> = {}): Promise<MappingSet> {
  const configDir = await mkdtemp(join(tmpdir(), 'omgw-mappings-'));
  try {
    await mkdir(join(configDir, 'mappings'));
    for (const [name, text] of Object.entries(files)) await writeFile(join(configDir, 'mappings', name), text);
    return await loadMappings(configDir);
  } finally {
    await rm(configDir, { recursive: true, force: true });
  }
}
