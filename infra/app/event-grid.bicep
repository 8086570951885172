// The Event Grid system topic for the storage account's blob events. Flex Consumption supports
// only the Event Grid source for blob triggers. The subscription that sends the intake
// container's BlobCreated events to the blob_intake function is made by scripts/postdeploy.sh
// (and .ps1) after `azd deploy`, because its webhook URL carries the blobs_extension system key,
// which the Functions host creates only once the code runs. That subscription dead-letters
// undeliverable events into a container as the topic's own identity, which this module sets up.

param name string
param location string
param tags object
param storageAccountName string

@description('Container (in the same account) that receives events Event Grid gave up delivering.')
param deadLetterContainerName string

@description('Log Analytics workspace for delivery failures and metrics. Empty: no diagnostic settings.')
param logAnalyticsWorkspaceId string = ''

// Storage Blob Data Contributor: writes dead-lettered events (shared keys are disabled).
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: deadLetterContainerName
}

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: name
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

resource deadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetterContainer.id, topic.id, storageBlobDataContributor)
  scope: deadLetterContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
    principalId: topic.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(logAnalyticsWorkspaceId)) {
  name: 'to-log-analytics'
  scope: topic
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

output name string = topic.name
output deadLetterContainerId string = deadLetterContainer.id
