// The Durable Task Scheduler: the managed backend of the app's Durable Functions task hub (the
// default; `durableBackend` in main.bicep chooses it). Its dashboard shows every orchestration,
// its history and custom status in the portal. The app reaches it as its managed identity
// (Durable Task Data Contributor), through the connection string main.bicep puts in the app
// settings; the person running azd gets the same role only with grantDeployerRoles, to open the
// dashboard. The Functions host still keeps its own state (keys, blob trigger bookkeeping) in
// the storage account (AzureWebJobsStorage).

param name string
param location string
param tags object

@description('Task hub name: the app\'s TASKHUB_NAME (host.json hubName).')
@minLength(3)
@maxLength(64)
param taskHubName string

@description('Consumption: billed per action, no capacity to manage. Dedicated: reserved capacity units (fixed monthly price).')
@allowed([
  'Consumption'
  'Dedicated'
])
param skuName string = 'Consumption'

@description('Capacity units of the Dedicated SKU (ignored for Consumption).')
@minValue(1)
param capacity int = 1

@description('The app\'s managed identity (principal id).')
param appPrincipalId string

@description('Also give this principal the data role (the dashboard needs it). Empty: nobody else.')
param deployerPrincipalId string = ''

@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param deployerPrincipalType string = 'User'

// Durable Task Data Contributor: schedule, run, query, terminate and purge orchestrations
// (built-in role; the id is the same in every tenant).
var durableTaskDataContributor = '0ad04412-c4d5-4796-b79c-f76d14c8d402'

var dedicatedSku = {
  name: 'Dedicated'
  capacity: capacity
}
var consumptionSku = {
  name: 'Consumption'
}

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    // Access is by Microsoft Entra ID role only (the scheduler has no keys); like the reference
    // templates (Azure-Samples/Durable-Task-Scheduler), every network may connect, since the
    // Function App's outbound addresses are not fixed on Flex Consumption.
    ipAllowlist: [
      '0.0.0.0/0'
    ]
    sku: skuName == 'Dedicated' ? dedicatedSku : consumptionSku
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {
  parent: scheduler
  name: taskHubName
  properties: {}
}

resource appAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(scheduler.id, appPrincipalId, durableTaskDataContributor)
  scope: scheduler
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', durableTaskDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource deployerAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(scheduler.id, deployerPrincipalId, durableTaskDataContributor)
  scope: scheduler
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', durableTaskDataContributor)
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}

output name string = scheduler.name
output endpoint string = scheduler.properties.endpoint
output taskHubName string = taskHub.name
output dashboardUrl string = taskHub.properties.dashboardUrl
