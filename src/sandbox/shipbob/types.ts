/**
 * The shapes the emulated ShipBob reads and answers, named after ShipBob's 2026-01 OpenAPI models
 * (`Orders.CreateOrderModel`, `Orders.OrderViewModel`, `Orders.ShipmentViewModel`, ...). Field
 * names are ShipBob's (snake_case) because these objects go on the wire as they are.
 */

export const ORDER_TYPES = ['DTC', 'DropShip', 'B2B'] as const;
export type OrderType = (typeof ORDER_TYPES)[number];

export const SALES_CHANNELS = [
  'amazon', 'bigcommerce', 'ebay', 'faire', 'macy', 'magento', 'shein', 'shopify', 'squarespace',
  'targetplus', 'temu', 'tiktok', 'unleashed', 'walmart', 'woocommerce',
] as const;
export const CARRIER_TYPES = ['Parcel', 'Freight'] as const;
export const PAYMENT_TERMS = ['Collect', 'ThirdParty', 'Prepaid', 'MerchantResponsible'] as const;
export const ADDRESS_TYPES = ['MarkFor', 'ShipFrom'] as const;

/** `Webhooks.Topics` of the 2026-01 spec. */
export const TOPICS_2026_01 = [
  'order.shipped',
  'order.shipment.delivered',
  'order.shipment.exception',
  'order.shipment.on_hold',
  'order.shipment.cancelled',
  'return.created',
  'return.updated',
  'return.completed',
  'billing.charge.created',
  'billing.refund.created',
  'billing.credit.created',
] as const;

/** Topics added by 2026-07 (from ShipBob's create-subscription page; the list there is cut short). */
export const TOPICS_2026_07_EXTRA = [
  'order.delivered',
  'order.shipment.tracking.updated',
  'order.shipment.address.updated',
  'order.shipment.line_item.added',
  'order.shipment.line_item.removed',
  'order.shipment.line_item.updated',
  'order.shipment.shipping_service.updated',
] as const;

export type WebhookTopic = (typeof TOPICS_2026_01)[number] | (typeof TOPICS_2026_07_EXTRA)[number];

export function topicsFor(apiVersion: string): readonly WebhookTopic[] {
  return apiVersion >= '2026-07' ? [...TOPICS_2026_01, ...TOPICS_2026_07_EXTRA] : TOPICS_2026_01;
}

export function isKnownTopic(topic: string): topic is WebhookTopic {
  return (TOPICS_2026_01 as readonly string[]).includes(topic) || (TOPICS_2026_07_EXTRA as readonly string[]).includes(topic);
}

// ---------------------------------------------------------------------------------------------
// Requests

export interface AddressInput {
  address1: string;
  address2: string | null;
  city: string;
  company_name: string | null;
  country: string;
  state: string | null;
  zip_code: string | null;
  /** Only on `Orders.RetailerProgramDataAddressViewModel`. */
  type?: (typeof ADDRESS_TYPES)[number];
}

export interface RecipientInput {
  name: string;
  address: AddressInput;
  email: string | null;
  phone_number: string | null;
}

export type ProductLineInput =
  | {
      by: 'reference_id';
      reference_id: string;
      name: string | null;
      sku: string | null;
      gtin: string | null;
      upc: string | null;
      unit_price: number | null;
      external_line_id: number | null;
      quantity: number;
      quantity_unit_of_measure_code: string | null;
    }
  | {
      by: 'id';
      id: number;
      external_line_id: number | null;
      quantity: number;
      quantity_unit_of_measure_code: string | null;
    };

export interface RetailerProgramDataInput {
  purchase_order_number: string;
  retailer_program_type: string;
  mark_for_store: string | null;
  department: string | null;
  delivery_date: string | null;
  customer_ticket_number: string | null;
  shipByDate: string | null;
  doNotShipBeforeDate: string | null;
  addresses: AddressInput[] | null;
}

/** A `POST /order` body that passed validation. */
export interface CreateOrderRequest {
  reference_id: string;
  order_number: string | null;
  shipping_method: string;
  type: OrderType;
  recipient: RecipientInput;
  products: ProductLineInput[];
  location_id: number | null;
  purchase_date: string | null;
  requested_delivery_date: string | null;
  tags: Array<{ name: string; value: string }> | null;
  financials: { total_price: number | null } | null;
  gift_message: string | null;
  shipping_terms: { carrier_type: string | null; payment_term: string | null } | null;
  retailer_program_data: RetailerProgramDataInput | null;
  sales_channel: string | null;
  origin_platform_program: string | null;
}

// ---------------------------------------------------------------------------------------------
// Views (responses and webhook payloads)

export type OrderStatus = 'Processing' | 'Exception' | 'PartiallyFulfilled' | 'Fulfilled' | 'Cancelled' | 'ImportReview';
export type ShipmentStatus =
  | 'None'
  | 'Processing'
  | 'Completed'
  | 'Exception'
  | 'OnHold'
  | 'Cancelled'
  | 'CleanSweeped'
  | 'LabeledCreated'
  | 'ImportReview';

/** `Orders.ProductInfoViewModel` */
export interface OrderProductView {
  id: number;
  reference_id: string;
  sku: string;
  quantity: number;
  unit_price: number | null;
  external_line_id: number | null;
  gtin: string | null;
  upc: string | null;
  quantity_unit_of_measure_code: string | null;
}

/** `Orders.TrackingViewModel` */
export interface TrackingView {
  carrier: string;
  carrier_service: string;
  tracking_number: string;
  tracking_url: string;
  shipping_date: string;
  bol: string | null;
  pro_number: string | null;
  scac: string | null;
}

/** `Orders.ShipmentProductViewModel` */
export interface ShipmentProductView {
  id: number;
  reference_id: string;
  name: string;
  sku: string;
  inventory_items: Array<{
    id: number;
    name: string;
    quantity: number;
    quantity_committed: number;
    lot: string | null;
    expiration_date: string | null;
    serial_numbers: string[];
    is_dangerous_goods: boolean;
  }>;
}

/** `Orders.ShipmentViewModel` */
export interface ShipmentView {
  id: number;
  order_id: number;
  reference_id: string;
  recipient: {
    name: string;
    full_name: string;
    address: AddressInput;
    email: string | null;
    phone_number: string | null;
  };
  created_date: string;
  last_update_at: string;
  last_tracking_update_at: string | null;
  status: ShipmentStatus;
  status_details: Array<{ id: number; name: string; description: string; inventory_id: number | null; exception_fulfillment_center_id: number | null; extra_information: { validation_messages: string[] } | null }>;
  location: { id: number; name: string };
  invoice_amount: number | null;
  invoice_currency_code: string | null;
  insurance_value: number | null;
  ship_option: string;
  tracking: TrackingView | null;
  products: ShipmentProductView[];
  parent_cartons: unknown[];
  measurements: { total_weight_oz: number; length_in: number; width_in: number; depth_in: number };
  require_signature: boolean;
  gift_message: string | null;
  estimated_fulfillment_date: string;
  estimated_fulfillment_date_status: 'AwaitingInventoryAllocation' | 'AwaitingReset' | 'Unavailable' | 'PendingOnTime' | 'FulfilledOnTime' | 'PendingLate' | 'FulfilledLate';
  actual_fulfillment_date: string | null;
  delivery_date: string | null;
  is_tracking_uploaded: boolean;
  package_material_type: string;
}

/** `Orders.OrderViewModel` */
export interface OrderView {
  id: number;
  created_date: string;
  purchase_date: string | null;
  reference_id: string;
  order_number: string;
  status: OrderStatus;
  type: OrderType;
  channel: { id: number; name: string };
  shipping_method: string;
  recipient: RecipientInput;
  products: OrderProductView[];
  tags: Array<{ name: string; value: string }>;
  shipments: ShipmentView[];
  gift_message: string | null;
  shipping_terms: { carrier_type: string | null; payment_term: string | null } | null;
  retailer_program_data: RetailerProgramDataInput | null;
  financials: { total_price: number | null };
}

/** A product of the sandbox catalogue (one variant per product). */
export interface CatalogueProduct {
  /** Product id (v5 `ProductViewModelV5.id`). */
  productId: number;
  /** Variant id: the id an order line gives as `id` and the id order views show. */
  id: number;
  inventoryId: number;
  /** ShipBob's `reference_id` on order lines = the variant's SKU / seller SKU. */
  reference_id: string;
  name: string;
  gtin: string | null;
  upc: string | null;
  onHand: number;
  createdOn: string;
}

export interface LocationView {
  id: number;
  name: string;
  abbreviation: string;
  is_active: boolean;
  is_receiving_enabled: boolean;
  is_shipping_enabled: boolean;
  access_granted: boolean;
  region: { id: number; name: string };
  timezone: string;
  attributes: string[];
  services: Array<{ service_type: string; enabled: boolean; address: { name: string; address1: string; address2: string | null; city: string; state: string; zip_code: string; country: string; phone_number: string; email: string } }>;
}

export interface ChannelView {
  id: number;
  name: string;
  application_name: string;
  scopes: string[];
}
