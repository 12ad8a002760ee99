import { gatewayYaml } from './gateway.ts';

/** The sandbox on, with its own (not published) credentials. */
export const SANDBOX_YAML = gatewayYaml(
  [
    'sandbox:',
    '  enabled: true',
    '  fusion:',
    '    password: ${env:SB_FUSION_PASSWORD}',
    '  shipbob:',
    '    token: ${env:SB_TOKEN}',
    '    webhookSecret: ${env:SB_SECRET}',
    '',
  ].join('\n'),
);
export const SANDBOX_ENV = {
  SB_FUSION_PASSWORD: 'fusion-pw-7c1d9e',
  SB_TOKEN: 'sb-token-2f8a61',
  SB_SECRET: `whsec_${Buffer.from('omgw-loopback-test-24byt').toString('base64')}`,
};
