// The data-plane roles one principal needs to run the app: the Function App's managed identity
// always, and optionally the person (or CI principal) running azd, so that they can run the app
// locally against these Azure resources with their own sign-in. Built-in role ids are the same
// in every tenant.

param principalId string

@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param principalType string

param storageAccountName string
param applicationInsightsName string

@description('The AI Services account created by this deployment; empty when an existing endpoint is used (grant that role yourself, see README).')
param aiServicesName string

var storageRoles = {
  // Blobs: documents, results, grants, the deployment package, the host's leases and keys.
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  // User-delegation keys, which sign the read-only SAS that Content Understanding uses to read
  // inputs. Blob Data Owner includes this action; the role is listed so that a future switch to
  // Blob Data Contributor or Reader cannot silently break SAS signing.
  storageBlobDelegator: 'db58b8e5-c6ad-4a2a-8342-4190687cbf4a'
  // Durable Functions control and work-item queues; the blob trigger's bookkeeping queues.
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  // Durable Functions history and instance tables.
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
}
// Calls Content Understanding with a Microsoft Entra ID token (keys are disabled).
var cognitiveServicesUser = 'a97b65f3-24c7-4388-baec-2e87135dc908'
// Sends telemetry to an Application Insights resource whose local authentication is disabled.
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource aiServices 'Microsoft.CognitiveServices/accounts@2024-10-01' existing = if (!empty(aiServicesName)) {
  name: aiServicesName
}

resource storageAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in items(storageRoles): {
    name: guid(storage.id, principalId, role.value)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.value)
      principalId: principalId
      principalType: principalType
    }
  }
]

resource cognitiveServicesUserAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(aiServicesName)) {
  name: guid(aiServices.id, principalId, cognitiveServicesUser)
  scope: aiServices
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', cognitiveServicesUser)
    principalId: principalId
    principalType: principalType
  }
}

resource metricsPublisherAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, principalId, monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: principalId
    principalType: principalType
  }
}
