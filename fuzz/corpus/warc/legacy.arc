filedesc://fuzz.arc 0.0.0.0 19961104142103 text/plain 75
1 0 Alexa Internet
URL IP-address Archive-date Content-type Archive-length

http://arc.example/ 127.0.0.1 19961104142103 text/html 196
HTTP/1.1 200 OK
Content-Type: text/html
Content-Length: 131

<html><head><title>Borrow checker</title></head><body><main><h1>Ownership</h1><p>Each value has one owner.</p></main></body></html>
