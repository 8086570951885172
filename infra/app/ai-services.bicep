// An Azure AI Services (Foundry) account, which hosts Content Understanding, and the model
// deployments that Content Understanding's GA API (2025-11-01) needs for its prebuilt and custom
// analyzers. Keys are disabled: callers use Microsoft Entra ID (role Cognitive Services User).

param name string
param location string
param tags object

@description('Model deployments to create, one at a time: {name, model, version, sku, capacity}.')
param modelDeployments array

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

output name string = account.name
output endpoint string = account.properties.endpoint
