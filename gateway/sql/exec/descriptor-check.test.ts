import { encodeDescriptor } from '../catalog/descriptors';
import { storedDescriptorVersion } from './descriptor-check';

const database = (version: number, name = 'd') => encodeDescriptor({ kind: 'database', id: 900, name, version, owner: 'root' });

describe('storedDescriptorVersion', () => {
  it('reads the version of the bytes given, whichever was seen before', () => {
    expect(storedDescriptorVersion(900, database(1))).toBe(1);
    expect(storedDescriptorVersion(900, database(1))).toBe(1);
    expect(storedDescriptorVersion(900, database(2))).toBe(2);
    expect(storedDescriptorVersion(900, database(1))).toBe(1);
    expect(storedDescriptorVersion(901, database(7, 'e'))).toBe(7);
  });

  it('does not take the remembered bytes for others of the same length', () => {
    expect(storedDescriptorVersion(900, database(3, 'a'))).toBe(3);
    expect(storedDescriptorVersion(900, database(4, 'b'))).toBe(4);
  });

  it('rejects bytes that are not a descriptor', () => {
    expect(() => storedDescriptorVersion(902, Buffer.from('{'))).toThrow();
  });
});
