import type { CatalogueProduct, ChannelView, LocationView } from './types.ts';

/** What a test or demo may give to seed the catalogue instead of the default products. */
export interface ProductSeed {
  reference_id: string;
  name: string;
  gtin?: string | null;
  upc?: string | null;
  onHand?: number;
}

/**
 * The default catalogue. LIGHT-ROAST is the product of ShipBob's own order example
 * (guides/build-orders-integration), TShirtBlueM the one of the OpenAPI examples, AS54888 an item
 * number of Oracle's Vision demo data, so a Fusion item maps to it without a mapping file.
 */
export const DEFAULT_PRODUCTS: readonly ProductSeed[] = [
  { reference_id: 'LIGHT-ROAST', name: 'Light Roast Coffee', onHand: 500 },
  { reference_id: 'DARK-ROAST', name: 'Dark Roast Coffee', onHand: 250 },
  { reference_id: 'TShirtBlueM', name: 'Medium Blue T-Shirt', gtin: '00012345678905', onHand: 120 },
  { reference_id: 'AS54888', name: 'Sentinel Standard Desktop', onHand: 40 },
];

/** First ids handed out by the counters (all within int32, as ShipBob's ids are). */
export const FIRST_IDS = {
  product: 1_000_001,
  variant: 2_000_001,
  inventory: 3_000_001,
  order: 100_000_001,
  shipment: 200_000_001,
} as const;

export function seedProducts(seeds: readonly ProductSeed[], createdOn: string): CatalogueProduct[] {
  return seeds.map((seed, i) => ({
    productId: FIRST_IDS.product + i,
    id: FIRST_IDS.variant + i,
    inventoryId: FIRST_IDS.inventory + i,
    reference_id: seed.reference_id,
    name: seed.name,
    gtin: seed.gtin ?? null,
    upc: seed.upc ?? null,
    onHand: seed.onHand ?? 100,
    createdOn,
  }));
}

function fc(id: number, name: string, abbreviation: string, region: { id: number; name: string }, timezone: string,
  address: { address1: string; city: string; state: string; zip_code: string }): LocationView {
  return {
    id,
    name,
    abbreviation,
    is_active: true,
    is_receiving_enabled: true,
    is_shipping_enabled: true,
    access_granted: true,
    region,
    timezone,
    attributes: [],
    services: [
      {
        service_type: 'Receiving',
        enabled: true,
        address: { name, address2: null, country: 'USA', phone_number: '555-555-5555', email: 'example@example.com', ...address },
      },
    ],
  };
}

/** Seeded fulfilment centers; the first is where orders go when no location_id is given. */
export const DEFAULT_LOCATIONS: readonly LocationView[] = [
  fc(156, 'Cicero (IL)', 'CIC', { id: 1, name: 'Midwest' }, 'Central Standard Time', { address1: '5900 W Ogden Ave', city: 'Cicero', state: 'IL', zip_code: '60804' }),
  fc(10, 'Moreno Valley (CA)', 'MOV', { id: 3, name: 'West' }, 'Pacific Standard Time', { address1: '17871 Perris Blvd', city: 'Moreno Valley', state: 'CA', zip_code: '92551' }),
  fc(188, 'Bethlehem (PA)', 'BET', { id: 2, name: 'East' }, 'Eastern Standard Time', { address1: '1 Emery St', city: 'Bethlehem', state: 'PA', zip_code: '18015' }),
];

/** `Receiving.FulfillmentCenterViewModel` of a location. */
export function fulfillmentCenterView(location: LocationView) {
  const address = location.services[0]?.address;
  return {
    id: location.id,
    name: location.name,
    address1: address?.address1 ?? '',
    address2: address?.address2 ?? null,
    city: address?.city ?? '',
    state: address?.state ?? '',
    zip_code: address?.zip_code ?? '',
    country: address?.country ?? 'USA',
    phone_number: address?.phone_number ?? '',
    email: address?.email ?? '',
    timezone: location.timezone,
  };
}

const ALL_SCOPES = [
  'pricing_read', 'fulfillments_write', 'returns_read', 'receiving_read', 'fulfillments_read', 'returns_write',
  'locations_write', 'channels_read', 'webhooks_write', 'locations_read', 'orders_write', 'webhooks_read',
  'inventory_read', 'billing_read', 'receiving_write', 'inventory_write', 'orders_read', 'products_read', 'products_write',
];

/**
 * The token's channels, as `GET /channel` lists them for a PAT: the Single-Merchant Application
 * channel (write scopes; its id goes in `shipbob_channel_id`) and the read-only ShipBob default.
 */
export function channelsFor(channelId: number): ChannelView[] {
  return [
    { id: channelId, name: 'Privileged Access Token (sandbox)', application_name: 'SMA', scopes: [...ALL_SCOPES] },
    {
      id: channelId + 1,
      name: 'ShipBob Default',
      application_name: 'ShipBob',
      scopes: ALL_SCOPES.filter((s) => s.endsWith('_read')),
    },
  ];
}

/** `Products.ProductViewModelV5` of a catalogue product (one variant). */
export function productView(p: CatalogueProduct, channel: ChannelView) {
  return {
    id: p.productId,
    name: p.name,
    type: 'Regular',
    created_on: p.createdOn,
    updated_on: p.createdOn,
    user_id: 1,
    taxonomy: null,
    variants: [
      {
        id: p.id,
        name: p.name,
        sku: p.reference_id,
        gtin: p.gtin,
        upc: p.upc,
        status: 'Active',
        is_digital: false,
        created_on: p.createdOn,
        updated_on: p.createdOn,
        inventory: { inventory_id: p.inventoryId, on_hand_qty: p.onHand },
        barcodes: [],
        channel_metadata: [
          {
            id: p.id,
            channel_id: channel.id,
            channel_name: channel.name,
            platform: 'ShipBob',
            platform_identifier: null,
            platform_inventory_item_id: null,
            seller_sku: p.reference_id,
            legacy_product_id: p.id,
            is_inventory_sync_enabled: false,
            price: null,
            currency: 'USD',
          },
        ],
        bundle_definition: [],
        associated_bundles: [],
        merge_children: [],
        reviews_pending: [],
      },
    ],
  };
}
