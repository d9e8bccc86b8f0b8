// An S3-compatible server for the S3 benchmarks (bench/s3.bench.ts): gofakes3 with its in-memory backend on
// loopback. Unlike moto, it answers a ranged GET by slicing the stored bytes, so a GET costs time in
// proportion to the bytes it returns, as S3 and MinIO do. It checks no signatures. Prints
// "listening on http://HOST:PORT" once it accepts connections and its buckets are ready.
//
// usage: s3server [-addr 127.0.0.1:0] [-bucket NAME,...]
package main

import (
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on (port 0: any free port)")
	buckets := flag.String("bucket", "", "comma-separated buckets to create at start")
	flag.Parse()

	backend := s3mem.New()
	faker := gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog()))
	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	// A client that stops reading a ranged GET early (webdcp drops a read stream it no longer needs) makes
	// gofakes3 try to write an error after the body began; net/http's complaint about that is noise here.
	server := &http.Server{Handler: faker.Server(), ErrorLog: log.New(io.Discard, "", 0)}
	go func() { log.Fatal(server.Serve(listener)) }()
	endpoint := "http://" + listener.Addr().String()
	for _, b := range strings.Split(*buckets, ",") {
		if b == "" {
			continue
		}
		if err := backend.CreateBucket(b); err != nil {
			log.Fatalf("create bucket %q: %v", b, err)
		}
		if err := openUploadIndex(endpoint, b); err != nil {
			log.Fatalf("bucket %q: %v", b, err)
		}
	}
	fmt.Printf("listening on %s\n", endpoint)
	os.Stdout.Sync()
	select {}
}

// openUploadIndex begins and aborts one multipart upload in the bucket. gofakes3 v1.2.0 answers
// ListMultipartUploads with 404 NoSuchUpload, not an empty list, in a bucket where no multipart upload ever
// began; webdcp lists the uploads of a key before writing it (to abort those a killed writer left).
func openUploadIndex(endpoint, bucket string) error {
	url := endpoint + "/" + bucket + "/.s3server-init"
	resp, err := http.Post(url+"?uploads", "application/octet-stream", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var begun struct {
		UploadID string `xml:"UploadId"`
	}
	if err := xml.NewDecoder(resp.Body).Decode(&begun); err != nil || begun.UploadID == "" {
		return fmt.Errorf("CreateMultipartUpload: HTTP %d, %v", resp.StatusCode, err)
	}
	req, err := http.NewRequest(http.MethodDelete, url+"?uploadId="+begun.UploadID, nil)
	if err != nil {
		return err
	}
	aborted, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	aborted.Body.Close()
	if aborted.StatusCode/100 != 2 {
		return fmt.Errorf("AbortMultipartUpload: HTTP %d", aborted.StatusCode)
	}
	return nil
}
