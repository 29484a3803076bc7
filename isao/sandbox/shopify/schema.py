"""The subset of Shopify's GraphQL Admin schema the sandbox serves, in SDL: type, field and argument names
and nullability as Shopify publishes them (shopify.dev GraphQL Admin reference), cut down to orders,
customers, products and variants, line items, money bags, connections with ``pageInfo``, the customer
mutations and webhook subscriptions."""

from __future__ import annotations

SDL = """
scalar DateTime
scalar Decimal
scalar Money
scalar URL
scalar UnsignedInt64

enum CurrencyCode { USD EUR GBP CAD AUD JPY CHF SEK DKK NOK PLN }
enum OrderSortKeys { CREATED_AT UPDATED_AT ID PROCESSED_AT TOTAL_PRICE }
enum CustomerSortKeys { CREATED_AT UPDATED_AT ID NAME }
enum ProductSortKeys { CREATED_AT UPDATED_AT ID TITLE }
enum OrderDisplayFinancialStatus {
  PENDING AUTHORIZED PARTIALLY_PAID PAID PARTIALLY_REFUNDED REFUNDED VOIDED EXPIRED
}
enum OrderDisplayFulfillmentStatus { UNFULFILLED PARTIALLY_FULFILLED FULFILLED RESTOCKED }
enum ProductStatus { ACTIVE ARCHIVED DRAFT }
enum WebhookSubscriptionFormat { JSON XML }
enum WebhookSubscriptionTopic {
  ORDERS_CREATE ORDERS_UPDATED ORDERS_PAID ORDERS_CANCELLED CUSTOMERS_CREATE CUSTOMERS_UPDATE
  PRODUCTS_CREATE PRODUCTS_UPDATE APP_UNINSTALLED
}

interface Node { id: ID! }

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type MoneyV2 { amount: Decimal! currencyCode: CurrencyCode! }
type MoneyBag { shopMoney: MoneyV2! presentmentMoney: MoneyV2! }

type MailingAddress {
  address1: String address2: String city: String province: String provinceCode: String zip: String
  country: String countryCodeV2: String company: String firstName: String lastName: String phone: String
}

type Shop { id: ID! name: String! email: String! myshopifyDomain: String! currencyCode: CurrencyCode! }

type Customer implements Node {
  id: ID!
  legacyResourceId: UnsignedInt64!
  email: String
  phone: String
  firstName: String
  lastName: String
  displayName: String!
  note: String
  tags: [String!]!
  createdAt: DateTime!
  updatedAt: DateTime!
  numberOfOrders: UnsignedInt64!
  defaultAddress: MailingAddress
  orders(first: Int, after: String, last: Int, before: String, reverse: Boolean = false): OrderConnection!
}
type CustomerEdge { cursor: String! node: Customer! }
type CustomerConnection { edges: [CustomerEdge!]! nodes: [Customer!]! pageInfo: PageInfo! }

type ProductVariant implements Node {
  id: ID!
  legacyResourceId: UnsignedInt64!
  title: String!
  sku: String
  price: Money!
  inventoryQuantity: Int
  product: Product!
  createdAt: DateTime!
  updatedAt: DateTime!
}
type ProductVariantEdge { cursor: String! node: ProductVariant! }
type ProductVariantConnection { edges: [ProductVariantEdge!]! nodes: [ProductVariant!]! pageInfo: PageInfo! }

type Product implements Node {
  id: ID!
  legacyResourceId: UnsignedInt64!
  title: String!
  handle: String!
  descriptionHtml: String!
  vendor: String!
  productType: String!
  status: ProductStatus!
  tags: [String!]!
  createdAt: DateTime!
  updatedAt: DateTime!
  variants(first: Int, after: String, last: Int, before: String,
           reverse: Boolean = false): ProductVariantConnection!
}
type ProductEdge { cursor: String! node: Product! }
type ProductConnection { edges: [ProductEdge!]! nodes: [Product!]! pageInfo: PageInfo! }

type LineItem implements Node {
  id: ID!
  title: String!
  name: String!
  sku: String
  quantity: Int!
  originalUnitPriceSet: MoneyBag!
  discountedTotalSet: MoneyBag!
  variant: ProductVariant
  product: Product
}
type LineItemEdge { cursor: String! node: LineItem! }
type LineItemConnection { edges: [LineItemEdge!]! nodes: [LineItem!]! pageInfo: PageInfo! }

type Order implements Node {
  id: ID!
  legacyResourceId: UnsignedInt64!
  name: String!
  email: String
  phone: String
  note: String
  tags: [String!]!
  createdAt: DateTime!
  updatedAt: DateTime!
  processedAt: DateTime!
  cancelledAt: DateTime
  closed: Boolean!
  currencyCode: CurrencyCode!
  displayFinancialStatus: OrderDisplayFinancialStatus
  displayFulfillmentStatus: OrderDisplayFulfillmentStatus!
  totalPriceSet: MoneyBag!
  subtotalPriceSet: MoneyBag
  totalTaxSet: MoneyBag
  totalShippingPriceSet: MoneyBag!
  customer: Customer
  billingAddress: MailingAddress
  shippingAddress: MailingAddress
  lineItems(first: Int, after: String, last: Int, before: String,
            reverse: Boolean = false): LineItemConnection!
}
type OrderEdge { cursor: String! node: Order! }
type OrderConnection { edges: [OrderEdge!]! nodes: [Order!]! pageInfo: PageInfo! }

type WebhookHttpEndpoint { callbackUrl: URL! }
type WebhookSubscription implements Node {
  id: ID!
  topic: WebhookSubscriptionTopic!
  format: WebhookSubscriptionFormat!
  callbackUrl: URL!
  endpoint: WebhookHttpEndpoint!
  includeFields: [String!]!
  createdAt: DateTime!
  updatedAt: DateTime!
}
type WebhookSubscriptionEdge { cursor: String! node: WebhookSubscription! }
type WebhookSubscriptionConnection {
  edges: [WebhookSubscriptionEdge!]! nodes: [WebhookSubscription!]! pageInfo: PageInfo!
}

type UserError { field: [String!] message: String! }

input MailingAddressInput {
  address1: String address2: String city: String province: String zip: String country: String
  company: String firstName: String lastName: String phone: String
}
input CustomerInput {
  id: ID
  email: String
  phone: String
  firstName: String
  lastName: String
  note: String
  tags: [String!]
  addresses: [MailingAddressInput!]
}
input WebhookSubscriptionInput {
  callbackUrl: URL
  format: WebhookSubscriptionFormat = JSON
  includeFields: [String!]
}

type CustomerCreatePayload { customer: Customer userErrors: [UserError!]! }
type CustomerUpdatePayload { customer: Customer userErrors: [UserError!]! }
type WebhookSubscriptionCreatePayload { webhookSubscription: WebhookSubscription userErrors: [UserError!]! }
type WebhookSubscriptionDeletePayload { deletedWebhookSubscriptionId: ID userErrors: [UserError!]! }

type QueryRoot {
  shop: Shop!
  node(id: ID!): Node
  order(id: ID!): Order
  orders(first: Int, after: String, last: Int, before: String, reverse: Boolean = false,
         sortKey: OrderSortKeys = ID, query: String): OrderConnection!
  customer(id: ID!): Customer
  customers(first: Int, after: String, last: Int, before: String, reverse: Boolean = false,
            sortKey: CustomerSortKeys = ID, query: String): CustomerConnection!
  product(id: ID!): Product
  products(first: Int, after: String, last: Int, before: String, reverse: Boolean = false,
           sortKey: ProductSortKeys = ID, query: String): ProductConnection!
  webhookSubscriptions(first: Int, after: String, last: Int, before: String,
                       topics: [WebhookSubscriptionTopic!]): WebhookSubscriptionConnection!
}

type Mutation {
  customerCreate(input: CustomerInput!): CustomerCreatePayload
  customerUpdate(input: CustomerInput!): CustomerUpdatePayload
  webhookSubscriptionCreate(topic: WebhookSubscriptionTopic!,
                            webhookSubscription: WebhookSubscriptionInput!): WebhookSubscriptionCreatePayload
  webhookSubscriptionDelete(id: ID!): WebhookSubscriptionDeletePayload
}

schema { query: QueryRoot mutation: Mutation }
"""
