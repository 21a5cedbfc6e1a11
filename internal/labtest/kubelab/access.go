package kubelab

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// connect writes the kubeconfig for processes in the lab and builds the
// test's client, whose sockets are opened inside the API server's
// namespace (the test process itself stays in the root namespace, which
// has no route to the lab).
func (c *Cluster) connect() error {
	server := "https://" + c.apiAddr.String()
	c.kubeconfig = filepath.Join(c.opts.Dir, "kubeconfig")
	if err := os.WriteFile(c.kubeconfig, []byte(kubeconfig(server, c.token)), 0o600); err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	c.cfg = &rest.Config{
		Host:            server,
		BearerToken:     c.token,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true},
		Timeout:         10 * time.Second,
		QPS:             100, Burst: 200,
		Dial: c.opts.Host.DialContext,
	}
	cs, err := kubernetes.NewForConfig(c.cfg)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	c.client = cs
	return nil
}

func kubeconfig(server, token string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster:
    server: %s
    insecure-skip-tls-verify: true
users:
- name: lab-admin
  user:
    token: %s
contexts:
- name: lab
  context:
    cluster: lab
    user: lab-admin
current-context: lab
`, server, token)
}

// writeServiceAccountKeys writes a fresh ECDSA P-256 key pair into dir.
func writeServiceAccountKeys(dir string) (pubPath, keyPath string, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("service account key: %w", err)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return "", "", fmt.Errorf("service account key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return "", "", fmt.Errorf("service account key: %w", err)
	}
	keyPath, pubPath = filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return "", "", fmt.Errorf("service account key: %w", err)
	}
	if err := os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		return "", "", fmt.Errorf("service account key: %w", err)
	}
	return pubPath, keyPath, nil
}

func randomToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return hex.EncodeToString(b), nil
}
