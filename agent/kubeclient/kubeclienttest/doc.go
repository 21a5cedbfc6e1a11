// Package kubeclienttest lets tests drive the agent with client-go's
// generated clientset (usually its fake): Clientset adapts one to what
// agent/source and the agent's Events need of kubeclient.Client. Only
// tests import it, so the agent's binary does not link the clientset.
package kubeclienttest
