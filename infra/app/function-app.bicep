// The Flex Consumption plan and the Python Function App. The app runs as the user-assigned
// identity for everything: its deployment package, host storage, documents, Content
// Understanding and telemetry. Settings come from main.bicep, where each one is explained.

param name string
param planName string
param location string
param tags object

param identityId string
param storageAccountName string
param deploymentContainerName string

@description('App settings (environment variables of the app).')
param appSettings object

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

// Flex Consumption accepts 1 to 1000 (the floor was 40 until March 2026).
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Instances of the Durable Functions group kept warm. The Azure Storage provider polls its queues from running instances, so at least one keeps timers and fan-in moving on an idle app.')
@minValue(0)
param durableAlwaysReadyInstances int = 1

@description('Spread the plan\'s instances over availability zones (needs at least two always-ready instances and zone-redundant storage).')
param zoneRedundant bool = false

@description('Subnet (delegated to Microsoft.App/environments) for the app\'s outbound traffic. Empty: no virtual network.')
param virtualNetworkSubnetId string = ''

@description('Log Analytics workspace for the app\'s logs and metrics. Empty: no diagnostic settings.')
param logAnalyticsWorkspaceId string = ''

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true // Linux
    zoneRedundant: zoneRedundant
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  // azd finds the app to deploy the `api` service (azure.yaml) to by this tag.
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Inbound stays public even with a virtual network: Event Grid delivers blob events to the
    // host's webhook from outside it (the webhook and the API are protected by keys).
    publicNetworkAccess: 'Enabled'
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        alwaysReady: [
          {
            name: 'durable'
            instanceCount: durableAlwaysReadyInstances
          }
        ]
      }
      // Flex Consumption takes the language from here; FUNCTIONS_WORKER_RUNTIME is not an app
      // setting on this plan.
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: app
  name: 'appsettings'
  properties: appSettings
}

// No basic (user name and password) publishing: azd deploys to Flex Consumption through the
// /api/publish endpoint with a Microsoft Entra ID token.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(logAnalyticsWorkspaceId)) {
  name: 'to-log-analytics'
  scope: app
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

output name string = app.name
output defaultHostName string = app.properties.defaultHostName
