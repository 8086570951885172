// An Azure AI Services (Foundry) account, which hosts Content Understanding, and the model
// deployments that Content Understanding's GA API (2025-11-01) needs for its prebuilt and custom
// analyzers. Keys are disabled: callers use Microsoft Entra ID (role Cognitive Services User).
// The account's Content Understanding defaults (model and alias -> deployment) are data-plane
// settings, which the postdeploy hook sets (scripts/postdeploy.sh).

param name string

// Only these regions offer Content Understanding (language-region-support page, December 2026):
// a deployment elsewhere fails here, at validation, with this list in the error.
@allowed([
  'australiaeast'
  'eastus'
  'eastus2'
  'northeurope'
  'southcentralus'
  'southeastasia'
  'swedencentral'
  'uksouth'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
param location string
param tags object

@description('Model deployments to create, one at a time: {name, model, version, sku, capacity}.')
param modelDeployments array

@description('Log Analytics workspace for the account\'s logs and metrics. Empty: no diagnostic settings.')
param logAnalyticsWorkspaceId string = ''

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  name: name
  location: location
  tags: tags
  kind: 'AIServices'
  sku: {
    name: 'S0'
  }
  properties: {
    // A custom subdomain is required for Microsoft Entra ID authentication.
    customSubDomainName: name
    disableLocalAuth: true
    // The app, the postdeploy hook and the Foundry portal call it from outside any network;
    // Entra ID is the only way in (see docs/deployment.md, Private networking).
    publicNetworkAccess: 'Enabled'
  }
}

// The service rejects concurrent deployment changes on one account, hence one at a time.
@batchSize(1)
resource deployments 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = [
  for modelDeployment in modelDeployments: {
    parent: account
    name: modelDeployment.name
    sku: {
      name: modelDeployment.sku
      capacity: modelDeployment.capacity
    }
    properties: {
      model: {
        format: 'OpenAI'
        name: modelDeployment.model
        version: modelDeployment.version
      }
    }
  }
]

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(logAnalyticsWorkspaceId)) {
  name: 'to-log-analytics'
  scope: account
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

output id string = account.id
output name string = account.name
output endpoint string = account.properties.endpoint
